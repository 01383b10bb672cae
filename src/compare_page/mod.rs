//! The comparison page (`zksim compare` writes `compare.html` beside `compare.json`): one
//! self-contained HTML file that opens from disk with no server and no network. It embeds the
//! report (`compare::Report`, the same data as `compare.json`) and draws it in the browser with the
//! d3 the run page vendors (`page/vendor`, ISC licence): the figures table with each median's 95%
//! interval, latency CDFs of every configuration on one axis, the unavailability windows after
//! lost leaders as a strip plot, messages per write against each protocol's theory, and the
//! pass/fail matrix of variants by scenarios with the seeds it took to find the first failure.
//! It draws only; every figure is computed in `compare`.

use crate::compare::Report;

/// The page's file name in the comparison's folder.
pub const PAGE_FILE: &str = "compare.html";

const TEMPLATE: &str = include_str!("compare.html");
const STYLE: &str = include_str!("compare.css");
const SCRIPT: &str = include_str!("compare.js");

/// The page of `report`.
pub fn html(report: &Report) -> String {
    let data = crate::report::rounded_json(report);
    // The data sits in a <script> element: no `<` may end it early.
    let data = data.replace('<', "\\u003c");
    let title = format!(
        "zksim compare: {} configurations, seeds {}..{}",
        report.configurations.len(),
        report.seeds.start,
        report.seeds.end
    );
    TEMPLATE
        .replacen("/*STYLE*/", STYLE, 1)
        .replacen("/*D3*/", crate::page::D3, 1)
        .replacen("/*DATA*/", &data, 1)
        .replacen("/*SCRIPT*/", SCRIPT, 1)
        .replacen("TITLE", &title, 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sweep::Span;

    #[test]
    fn the_page_embeds_the_report_and_d3_and_nothing_from_the_network() {
        let report = Report {
            seeds: Span { start: 0, end: 2 },
            spread: crate::compare::SPREAD,
            coincidence: vec!["a note with </script> in it".into()],
            configurations: Vec::new(),
        };
        let page = html(&report);
        assert!(page.contains("a note with \\u003c/script> in it"));
        assert!(!page.contains("/*DATA*/") && !page.contains("/*D3*/"));
        assert!(page.contains("d3js.org v7"));
        // Nothing is loaded from elsewhere.
        assert!(!page.contains("src=\"http") && !page.contains("href=\"http"));
        let data_start = page
            .find("<script id=\"data\" type=\"application/json\">")
            .unwrap();
        let data = &page[data_start..];
        let json = &data[data.find('>').unwrap() + 1..data.find("</script>").unwrap()];
        let parsed: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(parsed["seeds"]["end"], 2);
    }
}
