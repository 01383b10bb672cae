//! The run page (`zksim run ... --page`): a replay of the run that carries the window it claims,
//! opens on a failing run's violation, and, loaded in a real browser and stepped by keys, shows
//! every node's state as the recording has it.
//!
//! The browser half needs Debian's `chromium` (`.ci/run` installs it and sets
//! `ZKSIM_REQUIRE_BROWSER=1`, so that CI cannot skip it); elsewhere it is skipped with a message.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn zksim(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_zksim"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("zksim runs")
}

fn scenario(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scenarios")
        .join(name)
        .display()
        .to_string()
}

/// The data a page embeds.
fn page_data(html: &str) -> Value {
    let open = r#"<script id="data" type="application/json">"#;
    let start = html.find(open).expect("the page embeds its data") + open.len();
    let len = html[start..].find("</script>").expect("the data ends");
    serde_json::from_str(&html[start..start + len]).expect("the embedded data is JSON")
}

/// Every node's status after the window's event `pos`, as the page must show it.
fn status_at(data: &Value, pos: usize) -> Vec<Vec<String>> {
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_string())
            .collect()
    };
    let mut status: Vec<Vec<String>> = data["base"]
        .as_array()
        .unwrap()
        .iter()
        .map(strings)
        .collect();
    let upto = data["events"][pos][0].as_u64().unwrap();
    for change in data["changes"].as_array().unwrap() {
        if change[0].as_u64().unwrap() > upto {
            break;
        }
        status[change[1].as_u64().unwrap() as usize] = strings(&change[2]);
    }
    status
}

/// A fresh folder named for `name`.
fn fresh_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("zksim-page-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs the failing `sync-no-trunc` variant on `isolate-leader-3` in `dir` with a page of
/// `events` lines, for `seeds` (`--seed N` or `--seeds A..B`), into `out`.
fn run_failing_with_page(
    dir: &Path,
    seeds: [&str; 2],
    events: &str,
    out: &str,
) -> std::process::Output {
    let s = scenario("isolate-leader-3.json");
    let mut args = vec![
        "run",
        &s,
        "--variant",
        "sync-no-trunc",
        "--no-plots",
        "--page",
    ];
    args.extend(seeds);
    args.extend(["--page-events", events, "--out", out]);
    zksim(dir, &args)
}

/// A failing run's page, written into a fresh folder.
fn failing_page(events: &str) -> (PathBuf, String, Value) {
    let dir = fresh_dir(events);
    let out = run_failing_with_page(&dir, ["--seed", "1"], events, "out");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(1), "the variant fails: {stdout}");
    assert!(stdout.contains("page: out/run.html"), "{stdout}");
    let html = std::fs::read_to_string(dir.join("out/run.html")).unwrap();
    let data = page_data(&html);
    (dir, stdout, data)
}

#[test]
fn a_failing_runs_page_is_a_replay_that_opens_on_its_violation() {
    let (dir, _, data) = failing_page("2000");
    let results: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("out/results.json")).unwrap())
            .unwrap();
    // The page shows the run that was checked.
    assert_eq!(data["run"]["trace_hash"], results["trace_hash"]);
    assert_eq!(data["focus"]["check"], "prefix-agreement");
    let at = data["focus"]["at_ms"].as_f64().unwrap();
    let (from, to) = (
        data["window"]["from_ms"].as_f64().unwrap(),
        data["window"]["to_ms"].as_f64().unwrap(),
    );
    assert!(
        from <= at && at <= to,
        "the window {from}..{to} holds the violation at {at}"
    );
    let events = data["events"].as_array().unwrap();
    assert_eq!(events.len(), 2000);
    let total = data["window"]["total"].as_u64().unwrap();
    assert!(total > 2000, "a window of a longer run: {total}");
    // Consecutive trace lines, as the trace numbers them.
    let first = events[0][0].as_u64().unwrap();
    for (k, e) in events.iter().enumerate() {
        assert_eq!(e[0].as_u64().unwrap(), first + k as u64);
    }
    // Every node has a status from the window's first event on, and the leader is among them.
    let nodes = data["nodes"].as_array().unwrap().len();
    let start = status_at(&data, 0);
    assert_eq!(start.len(), nodes);
    assert!(start.iter().all(|s| !s.is_empty()), "{start:?}");
    let last = status_at(&data, events.len() - 1);
    assert!(last.iter().any(|s| s[0] == "leading"), "{last:?}");
    assert!(
        data["messages"].as_array().unwrap().len() > 100,
        "the window's messages are drawn"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn the_page_refuses_a_centre_after_the_run_and_a_window_out_of_bounds() {
    let dir = std::env::temp_dir();
    let s = scenario("calm-3.json");
    let out = zksim(&dir, &["run", &s, "--page", "--page-at", "1e12"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--page-at"));
    let out = zksim(&dir, &["run", &s, "--page", "--page-events", "5"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn a_sweep_writes_a_page_for_every_seed_that_did_not_pass() {
    let dir = fresh_dir("sweep");
    let out = run_failing_with_page(&dir, ["--seeds", "0..2"], "500", "sweep");
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    for seed in 0..2 {
        let html = std::fs::read_to_string(dir.join(format!("sweep/seed-{seed}/run.html")))
            .expect("a failing seed's folder holds its page");
        let data = page_data(&html);
        assert_eq!(data["run"]["seed"], seed);
        assert_eq!(data["events"].as_array().unwrap().len(), 500);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn chromium() -> Option<PathBuf> {
    ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|name| {
            let ok = Command::new(name)
                .arg("--version")
                .output()
                .is_ok_and(|o| o.status.success());
            ok.then(|| PathBuf::from(name))
        })
}

/// The browser the page tests drive, or `None` after saying the test is skipped (an error where
/// `ZKSIM_REQUIRE_BROWSER` is set, as CI sets it).
fn browser() -> Option<PathBuf> {
    let found = chromium();
    if found.is_none() {
        assert!(
            std::env::var_os("ZKSIM_REQUIRE_BROWSER").is_none(),
            "ZKSIM_REQUIRE_BROWSER is set but no chromium was found"
        );
        eprintln!(
            "SKIPPED: no chromium on this machine (install Debian's `chromium` package; .ci/run does)"
        );
    }
    found
}

/// Loads the page at `fragment` in headless Chromium and returns the DOM after its script ran.
fn rendered(browser: &Path, page: &Path, fragment: &str, screenshot: Option<&Path>) -> String {
    let url = format!("file://{}#{fragment}", page.display());
    let mut common = vec![
        "--headless".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--window-size=1400,1400".into(),
    ];
    if let Some(png) = screenshot {
        common.push(format!("--screenshot={}", png.display()));
        let out = Command::new(browser)
            .args(&common)
            .arg(&url)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        common.pop();
    }
    let out = Command::new(browser)
        .args(&common)
        .arg("--dump-dom")
        .arg(&url)
        .output()
        .expect("chromium runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// The text of each row of the table with id `id`, cells joined by `|`.
fn table_rows(dom: &str, id: &str) -> Vec<String> {
    let start = dom
        .find(&format!(r#"<table id="{id}">"#))
        .unwrap_or_else(|| panic!("table {id} in the page"));
    let body = &dom[start..];
    let body = &body[body.find("<tbody>").unwrap()..body.find("</tbody>").unwrap()];
    body.split("<tr")
        .skip(1)
        .map(|row| {
            row.split("<td")
                .skip(1)
                .map(|cell| {
                    let text = &cell[cell.find('>').unwrap() + 1..];
                    let text = &text[..text.find("</td>").unwrap()];
                    text.replace("&amp;", "&")
                        .replace("&lt;", "<")
                        .replace("&gt;", ">")
                })
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect()
}

#[test]
fn stepped_by_keys_in_a_browser_the_page_shows_every_nodes_state_at_that_event() {
    let Some(browser) = browser() else {
        return;
    };
    let (dir, _, data) = failing_page("3000");
    let page = dir.join("out/run.html");
    let nodes = data["nodes"].as_array().unwrap();
    let replicas = data["run"]["replicas"].as_u64().unwrap() as usize;
    // Open on event 1000, then step: right 3 times, left once, Page Down once (100 on).
    let shot = dir.join("step.png");
    let dom = rendered(
        &browser,
        &page,
        "step=1000&keys=ArrowRight,ArrowRight,ArrowRight,ArrowLeft,PageDown",
        Some(&shot),
    );
    let pos = 1000 + 3 - 1 + 100;
    assert!(
        dom.contains(&format!(r#"data-step="{pos}""#)),
        "the keys moved the cursor to {pos}"
    );
    let event = &data["events"][pos];
    assert!(
        dom.contains(&format!("(trace line {})", event[0].as_u64().unwrap() + 1)),
        "the page names the current event"
    );
    let status = status_at(&data, pos);
    let want: Vec<String> = (0..replicas)
        .map(|i| {
            let s = &status[i];
            let mut cells = vec![nodes[i]["name"].as_str().unwrap().to_string()];
            cells.extend(s.iter().cloned());
            cells.resize(5, String::new());
            cells.join("|")
        })
        .collect();
    assert_eq!(table_rows(&dom, "replicas"), want);
    let want: Vec<String> = (replicas..nodes.len())
        .map(|i| {
            format!(
                "{}|{}|{}",
                nodes[i]["name"].as_str().unwrap(),
                nodes[i]["label"].as_str().unwrap(),
                status[i][0]
            )
        })
        .collect();
    assert_eq!(table_rows(&dom, "clients"), want);
    // Opened without a step, a failing run's page goes to its violation.
    let dom = rendered(&browser, &page, "", None);
    let at = data["focus"]["at_ms"].as_f64().unwrap();
    let events = data["events"].as_array().unwrap();
    let first_at = events
        .iter()
        .position(|e| e[1].as_f64().unwrap() >= at)
        .unwrap();
    assert!(
        dom.contains(&format!(r#"data-step="{first_at}""#)),
        "opens on the violation"
    );
    assert!(dom.contains("Why it failed") && dom.contains("prefix-agreement"));
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "a screenshot was drawn"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Every `<text class="CLASS" x=".." y="..">label</text>` in the DOM, as (x, y, label), labels
/// left empty skipped.
fn svg_texts(dom: &str, class: &str) -> Vec<(f64, f64, String)> {
    let attr = |tag: &str, name: &str| -> f64 {
        let at = tag.find(&format!(r#" {name}=""#)).unwrap() + name.len() + 3;
        tag[at..at + tag[at..].find('"').unwrap()].parse().unwrap()
    };
    dom.split(&format!(r#"<text class="{class}""#))
        .skip(1)
        .map(|rest| {
            let tag = &rest[..rest.find('>').unwrap()];
            let label = &rest[rest.find('>').unwrap() + 1..rest.find("</text>").unwrap()];
            (attr(tag, "x"), attr(tag, "y"), label.to_string())
        })
        .filter(|(_, _, label)| !label.is_empty())
        .collect()
}

/// A crowded run, as an instructor would show one: `partial-connectivity-5-plain` deposes its
/// leader eighteen times in eight seconds under ten one-way cuts that start and end together. In
/// the browser, no two leader-change labels of the timeline overprint each other (those with no
/// room are left to their tooltips), and the ten cuts are drawn as one window, named once.
#[test]
fn a_crowded_timeline_in_a_browser_keeps_its_labels_apart() {
    let Some(browser) = browser() else {
        return;
    };
    let dir = fresh_dir("crowded");
    let s = scenario("raft/partial-connectivity-5-plain.json");
    let out = zksim(
        &dir,
        &[
            "run",
            &s,
            "--seed",
            "1",
            "--no-plots",
            "--page",
            "--out",
            "out",
        ],
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let data = page_data(&std::fs::read_to_string(dir.join("out/run.html")).unwrap());
    let marks = data["marks"].as_array().unwrap().len();
    assert!(marks > 20, "a crowded run: {marks} leader changes");
    let dom = rendered(&browser, &dir.join("out/run.html"), "", None);
    let labels = svg_texts(&dom, "mark-label");
    assert!(
        !labels.is_empty() && labels.len() < marks,
        "{} of {marks}",
        labels.len()
    );
    // The page places a label 6 px per character wide; none may start inside another on its row.
    for (i, a) in labels.iter().enumerate() {
        for b in &labels[i + 1..] {
            let apart = a.1 != b.1
                || a.0 + 6.0 * a.2.len() as f64 <= b.0
                || b.0 + 6.0 * b.2.len() as f64 <= a.0;
            assert!(apart, "{a:?} overprints {b:?}");
        }
    }
    let faults = svg_texts(&dom, "fault-label");
    assert_eq!(faults.len(), 1, "{faults:?}");
    assert!(faults[0].2.ends_with("and 9 more"), "{faults:?}");
    let _ = std::fs::remove_dir_all(&dir);
}
