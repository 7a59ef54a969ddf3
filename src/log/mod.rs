//! Audit log (RFC 6962 Merkle tree) and live-set commitment.

#![forbid(unsafe_code)]
pub mod merkle;
pub mod smt;
pub mod audit;
