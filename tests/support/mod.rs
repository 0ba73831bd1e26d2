//! Test doubles shared by the integration tests and the benchmark.
#![allow(dead_code)]

pub mod apiserver;
pub mod synthetic;
