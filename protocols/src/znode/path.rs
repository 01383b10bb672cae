//! Znode paths as ZooKeeper 3.8's server reads them: how it splits a path into parent and name,
//! which paths `PathUtils.validatePath` accepts, the reserved `/zookeeper` nodes and the sequential
//! suffix. Paths arrive exactly as the client sent them (FORMAT.md "Operations": no client-side
//! normalization), so nothing here ever rewrites a path; it only answers questions about one.

/// The root.
pub const ROOT: &str = "/";
/// ZooKeeper's own subtree, present at start-up (FORMAT.md "The reserved `/zookeeper` subtree").
pub const ZOOKEEPER: &str = "/zookeeper";
/// Quota bookkeeping, present at start-up, empty.
pub const QUOTA: &str = "/zookeeper/quota";
/// The dynamic configuration node: its ACL is read-only, hence the `NoAuth` answers.
pub const CONFIG: &str = "/zookeeper/config";

/// The parent the server looks up for `path`: everything before the last `/`, or `None` when the
/// path has no `/` at all. The server keeps the root under both `""` and `"/"`, so the empty prefix
/// of `/a` (and of `/` itself) names the root, while `//a` has parent `/` and `/a//b` has parent
/// `/a/`, a node that cannot exist (FORMAT.md "create", step 2).
pub fn parent(path: &str) -> Option<&str> {
    let slash = path.rfind('/')?;
    Some(if slash == 0 { ROOT } else { &path[..slash] })
}

/// The last component: the name under which a node is listed among its parent's children.
pub fn name(path: &str) -> &str {
    match path.rfind('/') {
        Some(slash) => &path[slash + 1..],
        None => path,
    }
}

/// Whether `path` passes `PathUtils.validatePath` (FORMAT.md "create", step 4): absolute, no
/// trailing `/` except for the root itself, no empty, `.` or `..` component, and no forbidden
/// character.
pub fn is_valid(path: &str) -> bool {
    if !path.starts_with('/') {
        return false;
    }
    if path == ROOT {
        return true;
    }
    if path.ends_with('/') {
        return false;
    }
    let components_ok = path[1..]
        .split('/')
        .all(|c| !c.is_empty() && c != "." && c != "..");
    components_ok && !path.chars().any(is_forbidden_char)
}

/// The characters `validatePath` refuses. The server tests Java `char`s, which are UTF-16 code
/// units: a character outside the Basic Multilingual Plane travels as a surrogate pair, whose
/// units lie in U+D800–U+DFFF, inside the refused U+D800–U+F8FF range, so it is refused too.
fn is_forbidden_char(c: char) -> bool {
    matches!(u32::from(c),
        0x0000..=0x001F | 0x007F..=0x009F | 0xD800..=0xF8FF | 0xFFF0..=0xFFFF | 0x10000..)
}

/// Whether `path` contains U+0000, which several requests refuse before any other check
/// (FORMAT.md "create" step 1, "delete" step 1, "Reads and sync").
pub fn has_nul(path: &str) -> bool {
    path.contains('\0')
}

/// The nodes `delete` refuses outright (FORMAT.md "delete", step 1).
pub fn is_undeletable(path: &str) -> bool {
    matches!(path, ROOT | ZOOKEEPER | QUOTA | CONFIG)
}

/// The name a sequential create appends: the parent's child-creation counter printed as `%010d`
/// (FORMAT.md "Sequential nodes"). The counter is a Java `int`; a negative one (after 2^31
/// creations) prints with its sign inside the ten characters, as Java's formatter does.
pub fn sequential_suffix(counter: i32) -> String {
    format!("{counter:010}")
}

/// The length of every sequential suffix.
pub const SEQUENTIAL_SUFFIX_LEN: usize = 10;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_is_everything_before_the_last_slash() {
        assert_eq!(parent("/a"), Some("/"));
        assert_eq!(parent("/"), Some("/"));
        assert_eq!(parent("/a/b"), Some("/a"));
        assert_eq!(parent("//a"), Some("/"));
        assert_eq!(parent("/a//b"), Some("/a/"));
        assert_eq!(parent("/a/"), Some("/a"));
        assert_eq!(parent("a/b"), Some("a"));
        assert_eq!(parent("a"), None);
        assert_eq!(name("/a/b"), "b");
        assert_eq!(name("/a/"), "");
    }

    #[test]
    fn validation_follows_validate_path() {
        for ok in [
            "/",
            "/a",
            "/a/b",
            "/.a",
            "/...",
            "/\u{e9}",
            "/a b",
            "/.0000000001",
        ] {
            assert!(is_valid(ok), "{ok:?} should be valid");
        }
        for bad in [
            "",
            "a",
            "a/b",
            "/a/",
            "//a",
            "/a//b",
            "/.",
            "/..",
            "/a/./b",
            "/a/../b",
            "/a\u{0}b",
            "/a\u{1}",
            "/\u{7f}",
            "/\u{9f}",
            "/\u{e000}",
            "/\u{f8ff}",
            "/\u{fff0}",
            "/\u{ffff}",
            "/\u{1f600}",
        ] {
            assert!(!is_valid(bad), "{bad:?} should be invalid");
        }
        assert!(is_valid("/\u{a0}") && is_valid("/\u{f900}") && is_valid("/\u{ffef}"));
    }

    #[test]
    fn suffix_is_ten_characters_like_java_percent_010d() {
        assert_eq!(sequential_suffix(3), "0000000003");
        assert_eq!(sequential_suffix(i32::MAX), "2147483647");
        assert_eq!(sequential_suffix(-5), "-000000005");
        assert_eq!(sequential_suffix(i32::MIN).len(), 11);
    }
}
