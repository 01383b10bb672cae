//! `protocols`: what runs inside zksim's world. The znode data model (ZooKeeper's sequential
//! specification), the simulated client, the replicated protocols and their named variants, and the
//! checks of ZooKeeper's own guarantees. Everything here is a sans-IO state machine driven by `sim`.

pub mod checks;
pub mod client;
pub mod cluster;
pub mod paxos;
pub mod raft;
pub mod recipes;
pub mod reference;
pub mod replication;
pub mod wire;
pub mod workload;
pub mod zab;
pub mod znode;
pub mod zookeeper;
