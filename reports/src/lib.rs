//! `reports`: a run's outputs (store folder, metrics, plots). Runs outside any world, so it may use
//! the file system and floats freely; it never decides anything a run depends on.
