// SPDX-License-Identifier: GPL-2.0

// Must not compile: using a socket buffer after it was freed as consumed (a use after free).
//
// expect: E0382

fn check() -> Result {
    Ok(())
}

#[allow(dead_code)]
fn used_after_consume() -> Result<u32> {
    let skb = net::skbuff::SkBuff::alloc(64, GFP_KERNEL)?;
    skb.consume();
    Ok(skb.len())
}
