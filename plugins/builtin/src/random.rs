//! A group member's own random stream: wyrand, drawn as `fastrand` 2.5 draws
//! an `f64`, with the generator's state in the member's cell.
//!
//! Written out rather than taken from `fastrand`: its 64 x 64 -> 128-bit
//! multiply is a `u128` product, which Wasm has no instruction for, so it
//! became a call to a general 128-bit multiply, the pack's most expensive
//! function in a backfill (a 15th of all its instructions). Here the product
//! is made of four 32 x 32-bit ones, inline. The stream is the one the pack drew
//! before (a test holds it to `fastrand`'s).

use std::cell::Cell;

/// A uniform draw in [0, 1) from the generator whose state is `state`.
pub fn next_f64(state: &Cell<u64>) -> f64 {
    // `fastrand::Rng::f64`: the top 63 bits of a draw scaled to [0, 1],
    // drawn again in the rare case they round to 1.
    const SCALE: f64 = 1.0 / (1u64 << 63) as f64;
    loop {
        let draw = (next_u64(state) >> 1) as f64 * SCALE;
        if draw < 1.0 {
            return draw;
        }
    }
}

/// The next 64 bits of wyrand (final v4.2 constants, as `fastrand` has them).
fn next_u64(state: &Cell<u64>) -> u64 {
    const WY_CONST_0: u64 = 0x2d35_8dcc_aa6c_78a5;
    const WY_CONST_1: u64 = 0x8bb8_4b93_962e_acc9;
    let s = state.get().wrapping_add(WY_CONST_0);
    state.set(s);
    let (low, high) = wide_multiply(s, s ^ WY_CONST_1);
    low ^ high
}

/// The low and high 64 bits of `a * b`.
fn wide_multiply(a: u64, b: u64) -> (u64, u64) {
    const LOW: u64 = 0xffff_ffff;
    let (a_low, a_high) = (a & LOW, a >> 32);
    // LLVM knows these four products for a 128-bit multiply and would make
    // them the call again; passing one half through `black_box` (a store and
    // a load) hides the pattern.
    let (b_low, b_high) = (std::hint::black_box(b & LOW), b >> 32);
    let low_low = a_low * b_low;
    let low_high = a_low * b_high;
    let high_low = a_high * b_low;
    let middle = (low_low >> 32) + (low_high & LOW) + (high_low & LOW);
    let high = a_high * b_high + (low_high >> 32) + (high_low >> 32) + (middle >> 32);
    (a.wrapping_mul(b), high)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stream_is_fastrands_from_the_same_seed() {
        for seed in [0, 1, 42, u64::MAX, 0x2d35_8dcc_aa6c_78a5, 1 << 63] {
            let state = Cell::new(seed);
            let mut reference = fastrand::Rng::with_seed(seed);
            for _ in 0..10_000 {
                assert_eq!(next_f64(&state).to_bits(), reference.f64().to_bits());
                assert_eq!(state.get(), reference.get_seed());
            }
        }
    }

    #[test]
    fn the_wide_product_is_the_u128_one() {
        let state = Cell::new(7);
        for _ in 0..10_000 {
            let (a, b) = (next_u64(&state), next_u64(&state));
            let product = u128::from(a) * u128::from(b);
            assert_eq!(
                wide_multiply(a, b),
                (product as u64, (product >> 64) as u64)
            );
        }
        assert_eq!(
            wide_multiply(u64::MAX, u64::MAX),
            (1, u64::MAX - 1),
            "the largest product"
        );
    }
}
