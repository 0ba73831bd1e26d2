//! The load stage: reads the estate from files (directories, stdin) or a live cluster into
//! positioned objects, keeping every span so that findings can point at file, line and
//! column. Nothing here knows about rules beyond the kinds they read.

pub mod cluster;
pub mod files;
pub mod git;
