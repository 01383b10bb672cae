//! Recording a run for its run page: a window of the run's trace lines, and every node's status
//! (a replica's role, term, logged and committed positions; a client's connection and session)
//! at each of them. The run page is a replay: the recorder rides along a second run of the same
//! seed, stepping the world one event at a time so that it can look at every node between events,
//! and changes nothing the run does (its trace hash is the first run's; a test holds this).
//!
//! A long run has millions of events, more than a page can carry. The recorder keeps a window of
//! `events` trace lines: up to half of them before `centre` (a failing check's time, by default)
//! and the rest after it. Statuses are kept as changes only, on top of a snapshot of every node at
//! the window's first line.

use protocols::cluster::{Node, Protocol};
use sim::trace::{TraceLine, TraceSink};
use sim::world::NodeState;
use sim::{NodeId, SimTime, World};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::rc::Rc;

/// Which part of a run a page shows.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PageWindow {
    /// The moment the window is centred on.
    pub centre: SimTime,
    /// How many trace lines it keeps.
    pub events: usize,
}

/// One node's status: for a replica `[role, term, logged, committed]`, for a client one
/// sentence; `["down"]` for a crashed node. A paused node shows what it held, marked paused.
pub type Status = Vec<String>;

/// What the recorder kept.
#[derive(Clone, Debug, Default)]
pub struct PageRecording {
    pub lines: Vec<TraceLine>,
    /// Every node's status just before the first kept line.
    pub base: Vec<Status>,
    /// (trace line index, node, new status): the status a node had after that line's event.
    pub changes: Vec<(u64, usize, Status)>,
    /// Trace lines of the whole run.
    pub total_lines: u64,
}

/// The recorder, shared between the world's trace sink and the stepping loop.
#[derive(Clone)]
pub struct PageRecorder(Rc<RefCell<Recorder>>);

struct Recorder {
    window: PageWindow,
    lines: VecDeque<TraceLine>,
    /// Status of every node before `lines[0]`.
    base: Vec<Status>,
    changes: VecDeque<(u64, usize, Status)>,
    /// Status of every node now.
    current: Vec<Status>,
    passed_centre: bool,
    total: u64,
}

impl PageRecorder {
    pub fn new(window: PageWindow, nodes: usize) -> PageRecorder {
        let empty = vec![Vec::new(); nodes];
        PageRecorder(Rc::new(RefCell::new(Recorder {
            window,
            lines: VecDeque::new(),
            base: empty.clone(),
            changes: VecDeque::new(),
            current: empty,
            passed_centre: false,
            total: 0,
        })))
    }

    /// The trace sink that feeds the recorder, passing every line on to `inner` too.
    pub fn sink(&self, mut inner: Option<TraceSink>) -> TraceSink {
        let recorder = self.0.clone();
        Box::new(move |line: &TraceLine| {
            if let Some(inner) = &mut inner {
                inner(line);
            }
            recorder.borrow_mut().line(line);
        })
    }

    /// Whether the window is full: the rest of the run need not be stepped one event at a time.
    pub fn done(&self) -> bool {
        let r = self.0.borrow();
        r.passed_centre && r.lines.len() >= r.window.events
    }

    /// Looks at every node after an event.
    pub fn observe<P: Protocol>(&self, world: &World<Node<P>>) {
        let mut r = self.0.borrow_mut();
        if r.total == 0 {
            return;
        }
        let index = r.total - 1;
        for i in 0..world.node_count() {
            let node = NodeId(i as u32);
            let status = status(world, node);
            // Every line is kept until the window is full (then nothing observes any more), so a
            // change belongs to the last kept line; `line` folds it into `base` if it falls out.
            if r.current[i] != status {
                r.current[i] = status.clone();
                r.changes.push_back((index, i, status));
            }
        }
    }

    pub fn finish(self) -> PageRecording {
        let r = self.0.borrow();
        PageRecording {
            lines: r.lines.iter().cloned().collect(),
            base: r.base.clone(),
            changes: r.changes.iter().cloned().collect(),
            total_lines: r.total,
        }
    }
}

impl Recorder {
    fn line(&mut self, line: &TraceLine) {
        self.total = line.index + 1;
        if self.passed_centre && self.lines.len() >= self.window.events {
            return;
        }
        if line.time >= self.window.centre {
            self.passed_centre = true;
        }
        self.lines.push_back(line.clone());
        // Before the centre, keep only the last half window: what falls out of it becomes the
        // starting state of what is left.
        while !self.passed_centre && self.lines.len() > self.window.events / 2 {
            self.lines.pop_front();
            let first = self.lines.front().map_or(u64::MAX, |l| l.index);
            while self.changes.front().is_some_and(|c| c.0 < first) {
                let (_, node, status) = self.changes.pop_front().expect("checked");
                self.base[node] = status;
            }
        }
    }
}

fn status<P: Protocol>(world: &World<Node<P>>, node: NodeId) -> Status {
    let mut status = match world.process(node) {
        None => return vec!["down".to_string()],
        Some(Node::Replica(r)) => {
            let s = r.status();
            vec![s.role, s.term.to_string(), s.logged, s.committed]
        }
        Some(Node::Client(c)) => vec![c.status()],
    };
    if world.state(node) == NodeState::Paused {
        status[0] = format!("paused: {}", status[0]);
    }
    status
}
