//! The ZooKeeper 3.8 data tree as a sequential state machine (to be written).
