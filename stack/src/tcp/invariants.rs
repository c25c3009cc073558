//! What must hold of a connection between any two events, checked in one place.
//!
//! [`Connection::check_invariants`] is the hook: debug builds call it after every event
//! the stack's TCP layer runs on a connection (`Tcp::settle`: a segment, a timer, a
//! user call), and fail loudly at the first violation, so every test and simulation in
//! a debug build checks them at every step; release builds skip it. Harnesses that drive
//! a [`Connection`] alone call it themselves. [`check_window_edge`] is the check of each
//! segment sent, called where the window is advertised.

use super::connection::Connection;
use super::recv_buffer::MAX_OUT_OF_ORDER;
use super::state::State;
use crate::wire::seq::Seq;

impl Connection {
    /// Checks the connection's variables:
    ///
    /// - SND.UNA <= SND.NXT <= SND.MAX (RFC 9293 3.3.1), and what is outstanding
    ///   (SND.MAX - SND.UNA) is held in the send buffer, give or take the SYN and FIN;
    /// - the send queue within its buffer; the receive buffer's out-of-order ranges
    ///   sorted, disjoint, not touching, above RCV.NXT, inside the free space, and at
    ///   most [`MAX_OUT_OF_ORDER`];
    /// - the window advertised (RCV.NXT to its right edge) fits the free receive space,
    ///   but for the rounding up a window scale forces (RFC 7323 2.4): every byte we
    ///   offered can be stored;
    /// - the SACK scoreboard (RFC 6675): blocks sorted, disjoint, not touching, within
    ///   [SND.UNA, SND.MAX];
    /// - a retransmission, persist or close timer armed while anything is outstanding
    ///   (RFC 6298 5.1), so no connection can stall with data in flight.
    ///
    /// # Errors
    ///
    /// The first violation, in words with the variables involved.
    pub fn check_invariants(&self) -> Result<(), String> {
        self.check_send_side()?;
        self.check_receive_side()?;
        self.check_scoreboard()
    }

    fn check_send_side(&self) -> Result<(), String> {
        let (una, nxt, max) = (self.snd_una, self.snd_nxt, self.snd_max);
        if !(una.le(nxt) && nxt.le(max)) {
            return Err(format!(
                "SND.UNA {} <= SND.NXT {} <= SND.MAX {} does not hold",
                una.0, nxt.0, max.0
            ));
        }
        // A buffer made smaller (SO_SNDBUF) keeps what it held: the ring still holds it.
        if self.send.len() > self.send.capacity().max(self.send.allocated()) {
            return Err(format!(
                "send queue {} exceeds its buffer {}",
                self.send.len(),
                self.send.capacity()
            ));
        }
        let outstanding = max - una;
        // A SYN and a FIN take a sequence number each but no buffer byte.
        if outstanding > self.send.len() + 2 {
            return Err(format!(
                "{outstanding} bytes outstanding (SND.UNA {} to SND.MAX {}) but only {} held",
                una.0,
                max.0,
                self.send.len()
            ));
        }
        let waiting = !matches!(self.state, State::Closed | State::Listen | State::TimeWait);
        if waiting && outstanding > 0 && self.poll_timeout().is_none() {
            return Err(format!(
                "{outstanding} bytes outstanding in {} and no timer armed",
                self.state
            ));
        }
        Ok(())
    }

    fn check_receive_side(&self) -> Result<(), String> {
        let free = self.recv.window();
        let mut previous_end = 0;
        let mut ranges = 0;
        for (offset, len) in self.recv.out_of_order() {
            ranges += 1;
            if offset <= previous_end || len == 0 || offset + len > free {
                return Err(format!(
                    "out-of-order range {offset}+{len} after {previous_end} in a free space of \
                     {free}: not sorted, touching, empty or past the window"
                ));
            }
            previous_end = offset + len;
        }
        if ranges > MAX_OUT_OF_ORDER {
            return Err(format!("{ranges} out-of-order ranges held"));
        }
        if !self.state.is_synchronized() {
            return Ok(());
        }
        let slack = (1usize << self.negotiated.rcv_shift) - 1;
        if self.rcv_wnd() > free + slack {
            return Err(format!(
                "advertised {} bytes past RCV.NXT {} but only {free} are free",
                self.rcv_wnd(),
                self.rcv_nxt.0
            ));
        }
        Ok(())
    }

    fn check_scoreboard(&self) -> Result<(), String> {
        let (una, max) = (self.snd_una, self.snd_max);
        let mut previous: Option<Seq> = None;
        for &(left, right) in self.scoreboard.blocks() {
            let in_order = previous.is_none_or(|end| end.lt(left));
            if !(in_order && una.le(left) && left.lt(right) && right.le(max)) {
                return Err(format!(
                    "SACK scoreboard block {}..{} (after {:?}) outside SND.UNA {}..SND.MAX {}, \
                     empty, or out of order",
                    left.0,
                    right.0,
                    previous.map(|s| s.0),
                    una.0,
                    max.0
                ));
            }
            previous = Some(right);
        }
        Ok(())
    }
}

/// The window a segment advertises (right edge `ack + (field << shift)`) may not lie
/// left of the edge offered before, `rcv_adv`: RFC 9293 3.8.6.2.2 says a receiver SHOULD
/// NOT shrink the window, and RFC 7323 2.4 allows only the rounding of the scale.
///
/// # Errors
///
/// Both edges, when it shrinks by more.
pub fn check_window_edge(rcv_adv: Seq, ack: Seq, field: u16, shift: u8) -> Result<(), String> {
    let edge = ack + (usize::from(field) << shift);
    let slack = (1usize << shift) - 1;
    if edge.lt(rcv_adv) && rcv_adv - edge > slack {
        return Err(format!(
            "advertised window shrank: right edge {} (ack {} window {field} << {shift}) after {}",
            edge.0, ack.0, rcv_adv.0
        ));
    }
    Ok(())
}
