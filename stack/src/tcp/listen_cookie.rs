//! A listener under a SYN flood: SYNs that find its SYN queue full are answered with a
//! SYN cookie (RFC 4987 3.6, see `syncookie.rs`) and forgotten; the ACK that returns a
//! good cookie creates the connection, ESTABLISHED at once, in the accept queue.

use core::net::SocketAddrV4;

use log::debug;

use super::connection::{Connection, Endpoint, DEFAULT_MSS};
use super::layer::Tcp;
use super::state::State;
use super::syncookie::{self, options_from_ts, ts_with_options};
use crate::counters::RxDrop;
use crate::outbound::Outbound;
use crate::socket::SocketHandle;
use crate::time::Instant;
use crate::wire::seq::Seq;
use crate::wire::tcp::{Flags, TcpRepr};

impl Tcp {
    /// Answers the SYN `seg` to listener `lh` with a SYN,ACK whose ISS is a cookie, and
    /// keeps nothing of it.
    pub(super) fn send_syn_cookie(
        &mut self,
        now: Instant,
        out: &mut Outbound,
        lh: SocketHandle,
        (local, remote): (SocketAddrV4, SocketAddrV4),
        seg: &TcpRepr,
    ) {
        let peer_mss = seg.options.mss.unwrap_or(DEFAULT_MSS as u16);
        let (iss, mss) = self.cookies.encode(now, local, remote, seg.seq, peer_mss);
        let cfg = self.child_config(lh);
        // Only a peer that echoes our timestamps can give back its other options.
        let stamped = cfg.timestamps && seg.options.timestamps.is_some();
        let mut syn = *seg;
        syn.options.mss = Some(mss);
        if !stamped {
            syn.options.window_scale = None;
            syn.options.sack_permitted = false;
            syn.options.timestamps = None;
        }
        // The SYN,ACK a connection would send, built by one, then forgotten.
        let our_mss = Tcp::our_mss(out);
        let mut conn = Connection::listen(cfg, local, remote, iss, our_mss, now);
        let _ = conn.handle_segment(now, &syn, &[]);
        let Some(mut synack) = conn.poll_transmit(now) else {
            return;
        };
        if let Some((val, ecr)) = synack.repr.options.timestamps {
            let scale = synack
                .repr
                .options
                .window_scale
                .and(syn.options.window_scale);
            let sack = synack.repr.options.sack_permitted;
            synack.repr.options.timestamps = Some((ts_with_options(val, scale, sack), ecr));
        }
        self.emit_header(now, out, *remote.ip(), &synack.repr);
        self.counters.syn_cookies_sent += 1;
        if let Some(l) = self.listener_mut(Some(lh)) {
            l.last_cookie = Some(now);
        }
    }

    /// An ACK to listener `lh`: if the listener sent cookies lately and the ACK returns
    /// a good one, the connection it completes, ESTABLISHED, in the accept queue, with
    /// the segment processed. `Ok(false)` when it is no cookie of ours.
    pub(super) fn on_cookie_ack(
        &mut self,
        now: Instant,
        out: &mut Outbound,
        lh: SocketHandle,
        (local, remote): (SocketAddrV4, SocketAddrV4),
        seg: &TcpRepr,
        data: &[u8],
    ) -> Result<bool, RxDrop> {
        let recent = match self.listener_mut(Some(lh)) {
            Some(l) => l
                .last_cookie
                .is_some_and(|t| now.saturating_since(t) < syncookie::RECENT),
            None => false,
        };
        if !recent || seg.flags.has(Flags::SYN) || seg.flags.has(Flags::RST) {
            return Ok(false);
        }
        let iss = Seq(seg.ack.0.wrapping_sub(1));
        let irs = Seq(seg.seq.0.wrapping_sub(1));
        let Some(mss) = self.cookies.decode(now, local, remote, irs, iss) else {
            return Ok(false);
        };
        // As for a handshake completed from the SYN queue: no room, no connection; the
        // client's retransmission (or its data) may find room later.
        if self.accept_queue_full(lh) {
            self.counters.accept_queue_overflows += 1;
            return Err(RxDrop::TcpAcceptQueueFull);
        }
        let (peer_window_scale, peer_sack_permitted, peer_timestamp) = match seg.options.timestamps
        {
            Some((val, ecr)) if self.config.timestamps => {
                let (scale, sack) = options_from_ts(ecr);
                (scale, sack, Some(val))
            }
            _ => (None, false, None),
        };
        let ep = Endpoint {
            config: self.child_config(lh),
            local,
            remote,
            iss,
            irs,
            // The ACK itself updates the window, scaled, when it is processed below.
            snd_wnd: usize::from(seg.window),
            our_mss: Tcp::our_mss(out),
            peer_mss: Some(mss),
            peer_window_scale,
            peer_timestamp,
            peer_sack_permitted,
        };
        let mut conn = Connection::in_state(now, State::Established, &ep);
        conn.passive = true;
        let h = self.insert_child(lh, conn, local, remote)?;
        if let Some(l) = self.listener_mut(Some(lh)) {
            l.accept_queue.push_back(h);
        }
        self.touched.touch(lh);
        self.counters.syn_cookies_accepted += 1;
        debug!("tcp {local} <- {remote}: SYN cookie, LISTEN -> ESTABLISHED");
        self.on_connection_segment(now, out, h, seg, data);
        Ok(true)
    }
}
