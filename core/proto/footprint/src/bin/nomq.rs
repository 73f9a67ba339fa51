//! Footprint image: see the workload in lib.rs.
#![no_std]
#![no_main]

extern crate nomq_footprint;

#[unsafe(no_mangle)]
pub extern "C" fn _start() -> ! {
    nomq_footprint::endpoint();
    loop {}
}
