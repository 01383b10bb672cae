//! Tidy checks that clippy.toml's bans also hold where clippy is not run: no source file in `sim`
//! or `protocols` names a source of nondeterminism. The checker (sim/src/check) runs outside any
//! world: it may use threads, the wall clock (its budget) and hash maps with a fixed hasher (its
//! memo), each use marked with an `allow` and a reason.

use std::path::{Path, PathBuf};

/// Names that must not appear in code that runs inside a world.
const BANNED: [&str; 8] = [
    "HashMap",
    "HashSet",
    "Instant::now",
    "SystemTime",
    "thread::spawn",
    "thread_rng",
    "rand::rng(",
    "static mut",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn sim_and_protocols_name_no_source_of_nondeterminism() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("sim/src"), &mut files);
    rust_files(&root.join("protocols/src"), &mut files);
    assert!(files.len() > 20, "found the sources");
    let mut problems = Vec::new();
    for file in files {
        let in_checker = file.starts_with(root.join("sim/src/check"));
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for banned in BANNED {
                let allowed = in_checker && matches!(banned, "Instant::now" | "thread::spawn" | "HashMap" | "HashSet");
                if code.contains(banned) && !allowed {
                    problems.push(format!("{}:{}: {banned}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(problems.is_empty(), "nondeterminism in world code:\n{}", problems.join("\n"));
}

#[test]
fn the_rand_chacha_version_in_use_is_the_recorded_one() {
    let lock = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("Cargo.lock")).unwrap();
    let entry = format!("name = \"rand_chacha\"\nversion = \"{}\"", sim::rng::RAND_CHACHA_VERSION);
    assert!(lock.contains(&entry), "Cargo.lock's rand_chacha differs from sim::rng::RAND_CHACHA_VERSION");
}
