//! The OS random source (`wasi:random` in the component, the OS on the host).

use crate::error::RandomUnavailable;

pub fn fill(buf: &mut [u8]) -> Result<(), RandomUnavailable> {
    getrandom::fill(buf).map_err(|_| RandomUnavailable)
}

pub fn array<const N: usize>() -> Result<[u8; N], RandomUnavailable> {
    let mut out = [0u8; N];
    fill(&mut out)?;
    Ok(out)
}

pub fn next_u32() -> Result<u32, RandomUnavailable> {
    getrandom::u32().map_err(|_| RandomUnavailable)
}
