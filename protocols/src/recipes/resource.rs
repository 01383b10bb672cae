//! The guarded resource the lock's holders write to: a storage service that, with fencing on,
//! rejects a write whose token is lower than the highest token it has accepted (Kleppmann 2016;
//! the token is the czxid of the holder's lock node, so tokens grow in the order ZooKeeper
//! granted the lock). Without fencing it takes every write.
//!
//! It is replayed after the run over the recipe log, in the log's order (virtual time, then the
//! order the world handled events in): a write reaches the resource at the instant its holder
//! makes it. It decides acceptance only; judging is `check.rs`'s business.

use super::{RecipeEvent, RecipeLine};
use crate::znode::Zxid;

/// Fills in `accepted` on every write of `log`; returns how many writes it rejected.
pub fn replay(log: &mut [RecipeLine], fencing: bool) -> u64 {
    let mut highest: Option<Zxid> = None;
    let mut rejected = 0;
    for line in log.iter_mut() {
        if let RecipeEvent::Write { token, accepted } = &mut line.event {
            let ok = !fencing || highest.is_none_or(|h| *token >= h);
            *accepted = Some(ok);
            if ok {
                highest = Some(highest.map_or(*token, |h| h.max(*token)));
            } else {
                rejected += 1;
            }
        }
    }
    rejected
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(time: u64, process: u64, token: u64) -> RecipeLine {
        RecipeLine {
            time,
            process,
            session: None,
            event: RecipeEvent::Write {
                token: Zxid(token),
                accepted: None,
            },
        }
    }

    fn accepted(log: &[RecipeLine]) -> Vec<bool> {
        log.iter()
            .filter_map(|l| match l.event {
                RecipeEvent::Write { accepted, .. } => accepted,
                _ => None,
            })
            .collect()
    }

    #[test]
    fn with_fencing_a_lower_token_after_a_higher_one_is_rejected_and_equal_ones_pass() {
        let mut log = vec![
            write(1, 0, 5),
            write(2, 1, 9),
            write(3, 0, 5),
            write(4, 1, 9),
        ];
        assert_eq!(replay(&mut log, true), 1);
        assert_eq!(accepted(&log), [true, true, false, true]);
    }

    #[test]
    fn without_fencing_every_write_is_taken() {
        let mut log = vec![write(1, 0, 5), write(2, 1, 9), write(3, 0, 5)];
        assert_eq!(replay(&mut log, false), 0);
        assert_eq!(accepted(&log), [true, true, true]);
    }
}
