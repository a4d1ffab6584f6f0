// SPDX-License-Identifier: GPL-2.0

// Must not compile: telling the stack that the queue is busy after dropping the packet (the
// stack would send it again: a use after free). `TxResult::Busy` carries the buffer back.
//
// expect: E0382

fn check() -> Result {
    Ok(())
}

use net::{
    netdevice::TxResult,
    skbuff::{
        DropReason,
        SkBuff, //
    },
};

#[allow(dead_code)]
fn busy_after_drop(skb: SkBuff) -> TxResult {
    skb.drop_with_reason(DropReason::FullRing);
    TxResult::Busy(skb)
}
