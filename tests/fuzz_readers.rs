//! The fuzz targets' readers (`fuzz/src/lib.rs`, included here) under a test that CI runs in a
//! few seconds: every file of every target's checked-in corpus (`fuzz/corpus/`, the crashing
//! inputs the fuzzer found included) is fed to every reader, then proptest mutates corpus files
//! and feeds them to their own target's reader. A reader may refuse any input; it must not panic,
//! abort or hang. The long runs are `cargo fuzz`'s (docs/fuzzing.md).

#[path = "../fuzz/src/lib.rs"]
mod readers;

use proptest::prelude::*;
use readers::Target;
use std::path::PathBuf;

/// Each target's corpus files, in name order.
fn corpus(target: Target) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target.name());
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "{}: an empty corpus", dir.display());
    files.iter().map(|f| std::fs::read(f).unwrap()).collect()
}

#[test]
fn every_corpus_file_goes_through_every_reader() {
    for from in Target::ALL {
        for bytes in corpus(from) {
            for target in Target::ALL {
                readers::read(target, &bytes);
            }
        }
    }
}

/// One edit of a corpus file.
#[derive(Clone, Debug)]
enum Edit {
    /// Replace the byte at this position (modulo the length) by this one.
    Set(usize, u8),
    /// Insert these bytes at this position.
    Insert(usize, Vec<u8>),
    /// Delete up to this many bytes from this position.
    Delete(usize, usize),
    /// Repeat the bytes from this position, this many, right after themselves.
    Repeat(usize, usize),
}

/// Bytes that mean something to one of the formats: brackets, quotes, separators, digits, signs,
/// keywords, newlines, and a byte that is not UTF-8 on its own.
fn meaningful_byte() -> impl Strategy<Value = u8> {
    prop::sample::select(b"[]{}()\":,;#\\-+0159eE.:nNtf \n\t\xc3\xff".to_vec())
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<usize>(), meaningful_byte()).prop_map(|(at, b)| Edit::Set(at, b)),
        (
            any::<usize>(),
            prop::collection::vec(meaningful_byte(), 1..8)
        )
            .prop_map(|(at, bytes)| Edit::Insert(at, bytes)),
        (any::<usize>(), 1usize..64).prop_map(|(at, n)| Edit::Delete(at, n)),
        (any::<usize>(), 1usize..64).prop_map(|(at, n)| Edit::Repeat(at, n)),
    ]
}

fn apply(bytes: &mut Vec<u8>, edit: &Edit) {
    let at = |i: usize, len: usize| if len == 0 { 0 } else { i % len };
    match edit {
        Edit::Set(i, b) if !bytes.is_empty() => {
            let i = at(*i, bytes.len());
            bytes[i] = *b;
        }
        Edit::Set(..) => {}
        Edit::Insert(i, new) => {
            let i = at(*i, bytes.len() + 1);
            bytes.splice(i..i, new.iter().copied());
        }
        Edit::Delete(i, n) => {
            let i = at(*i, bytes.len());
            let end = (i + n).min(bytes.len());
            bytes.drain(i..end);
        }
        Edit::Repeat(i, n) => {
            let i = at(*i, bytes.len());
            let end = (i + n).min(bytes.len());
            let copy = bytes[i..end].to_vec();
            bytes.splice(end..end, copy);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn mutated_corpus_files_never_crash_their_reader(
        target in prop::sample::select(Target::ALL.to_vec()),
        pick in any::<prop::sample::Index>(),
        edits in prop::collection::vec(edit(), 1..6),
    ) {
        let files = corpus(target);
        let mut bytes = files[pick.index(files.len())].clone();
        for e in &edits {
            apply(&mut bytes, e);
        }
        readers::read(target, &bytes);
    }
}
