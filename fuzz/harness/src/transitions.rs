//! RFC 9293's state diagram (3.3.2, figure 5), which transitions are legal, and which a
//! run reached. The harness watches `state()` before and after each event, so the stack
//! needs no hooks for this.

use std::collections::BTreeSet;
use std::fmt;

use netstack_core::tcp::State;

/// What moved a connection: the kind of event, as the diagram labels its arrows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Event {
    /// The connection was made by a passive OPEN (`Connection::listen`).
    PassiveOpen,
    /// The connection was made by an active OPEN (`Connection::connect`).
    ActiveOpen,
    /// A segment with RST arrived.
    RcvRst,
    /// A segment with SYN and ACK arrived.
    RcvSynAck,
    /// A segment with SYN (no ACK) arrived.
    RcvSyn,
    /// A segment with FIN (no SYN or RST) arrived.
    RcvFin,
    /// Any other segment arrived (an ACK, data, or nothing meaningful).
    RcvAck,
    /// The application shut down its side or closed.
    Close,
    /// The application aborted.
    Abort,
    /// The application sent data.
    Send,
    /// The application read.
    Recv,
    /// A timer ran.
    Timeout,
}

impl Event {
    /// The diagram's label for the event.
    pub fn label(self) -> &'static str {
        match self {
            Event::PassiveOpen => "passive OPEN",
            Event::ActiveOpen => "active OPEN",
            Event::RcvRst => "rcv RST",
            Event::RcvSynAck => "rcv SYN,ACK",
            Event::RcvSyn => "rcv SYN",
            Event::RcvFin => "rcv FIN",
            Event::RcvAck => "rcv ACK",
            Event::Close => "CLOSE",
            Event::Abort => "ABORT",
            Event::Send => "SEND",
            Event::Recv => "RECEIVE",
            Event::Timeout => "timeout",
        }
    }

    /// The event a segment with these control bits is.
    pub fn of_flags(flags: u8) -> Event {
        let (fin, syn, rst, ack) = (
            flags & 1 != 0,
            flags & 2 != 0,
            flags & 4 != 0,
            flags & 16 != 0,
        );
        match () {
            _ if rst => Event::RcvRst,
            _ if syn && ack => Event::RcvSynAck,
            _ if syn => Event::RcvSyn,
            _ if fin => Event::RcvFin,
            _ => Event::RcvAck,
        }
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

use Event as E;
use State as S;

/// Every arrow of RFC 9293 figure 5, with its label, and the two transitions its notes
/// add: SYN-RECEIVED back to LISTEN on a reset after a passive open (note 1), and
/// FIN-WAIT-1 straight to TIME-WAIT when a FIN arrives with the ACK of ours (note 2).
/// Note 3's "a reset from any state leads to CLOSED (or LISTEN)" is [`is_legal`]'s.
pub const DIAGRAM: [(State, Event, State); 21] = [
    (S::Closed, E::PassiveOpen, S::Listen),
    (S::Closed, E::ActiveOpen, S::SynSent),
    (S::Listen, E::RcvSyn, S::SynReceived),
    (S::Listen, E::Send, S::SynSent),
    (S::Listen, E::Close, S::Closed),
    (S::SynSent, E::RcvSyn, S::SynReceived),
    (S::SynSent, E::RcvSynAck, S::Established),
    (S::SynSent, E::Close, S::Closed),
    (S::SynReceived, E::RcvAck, S::Established),
    (S::SynReceived, E::RcvRst, S::Listen),
    (S::SynReceived, E::Close, S::FinWait1),
    (S::Established, E::Close, S::FinWait1),
    (S::Established, E::RcvFin, S::CloseWait),
    (S::FinWait1, E::RcvAck, S::FinWait2),
    (S::FinWait1, E::RcvFin, S::Closing),
    (S::FinWait1, E::RcvFin, S::TimeWait),
    (S::FinWait2, E::RcvFin, S::TimeWait),
    (S::Closing, E::RcvAck, S::TimeWait),
    (S::CloseWait, E::Close, S::LastAck),
    (S::LastAck, E::RcvAck, S::Closed),
    (S::TimeWait, E::Timeout, S::Closed),
];

/// One observed transition.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Transition {
    /// The state before the event.
    pub from: State,
    /// What happened.
    pub event: Event,
    /// The state after it.
    pub to: State,
}

/// A state's place in RFC 9293's list (3.3.2), for sorting reports (`State` has no
/// order of its own).
fn rank(s: State) -> u8 {
    match s {
        S::Closed => 0,
        S::Listen => 1,
        S::SynSent => 2,
        S::SynReceived => 3,
        S::Established => 4,
        S::FinWait1 => 5,
        S::FinWait2 => 6,
        S::CloseWait => 7,
        S::Closing => 8,
        S::LastAck => 9,
        S::TimeWait => 10,
    }
}

impl Ord for Transition {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (rank(self.from), self.event, rank(self.to)).cmp(&(
            rank(other.from),
            other.event,
            rank(other.to),
        ))
    }
}

impl PartialOrd for Transition {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Transition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} --{}--> {}", self.from, self.event, self.to)
    }
}

/// True when the diagram has an arrow from `from` to `to` (whatever its label).
fn arrow(from: State, to: State) -> bool {
    DIAGRAM.iter().any(|&(f, _, t)| f == from && t == to)
}

/// True when `to` is reached from `from` in one to three arrows labelled with a
/// segment or a CLOSE (whose FIN may have waited for the segment): one segment can carry
/// an ACK, data and a FIN, so it may take a connection several arrows at once
/// (SYN-RECEIVED --ACK--> ESTABLISHED --FIN--> CLOSE-WAIT).
fn path(from: State, to: State, depth: u8) -> bool {
    let by_segment = |e: Event| {
        matches!(
            e,
            E::RcvSyn | E::RcvSynAck | E::RcvFin | E::RcvAck | E::Close
        )
    };
    depth > 0
        && DIAGRAM
            .iter()
            .filter(|&&(f, e, _)| f == from && by_segment(e))
            .any(|&(_, _, t)| t == to || path(t, to, depth - 1))
}

/// Whether RFC 9293 allows an event to move a connection from `from` to `to`:
/// - nothing leaves CLOSED (a closed connection is gone);
/// - any state may fall to CLOSED on a reset, an abort or a timeout, or when the
///   application closes one that has not synchronized (note 3, 3.10.4, 3.10.5, 3.8.3);
/// - a reset may return a passive SYN-RECEIVED to LISTEN (note 1);
/// - a segment may take one to three arrows of the diagram at once;
/// - CLOSE takes one arrow; SEND, RECEIVE and timeouts move nothing else.
pub fn is_legal(t: Transition) -> bool {
    if t.from == t.to {
        return true;
    }
    if t.from == S::Closed {
        return matches!(t.event, E::PassiveOpen | E::ActiveOpen) && arrow(t.from, t.to);
    }
    if t.to == S::Closed && matches!(t.event, E::RcvRst | E::Abort | E::Timeout | E::Close) {
        return true;
    }
    match t.event {
        E::RcvRst => t.from == S::SynReceived && t.to == S::Listen,
        E::RcvSyn | E::RcvSynAck | E::RcvFin | E::RcvAck => path(t.from, t.to, 3),
        E::Close => arrow(t.from, t.to),
        E::PassiveOpen | E::ActiveOpen => arrow(t.from, t.to),
        E::Send => t.from == S::Listen && t.to == S::SynSent,
        E::Abort | E::Recv | E::Timeout => false,
    }
}

/// The transitions a run (or a corpus) reached.
#[derive(Clone, Debug, Default)]
pub struct Coverage {
    /// Every distinct transition seen.
    pub seen: BTreeSet<Transition>,
}

impl Coverage {
    /// Records `from --event--> to` when the state changed.
    pub fn record(&mut self, from: State, event: Event, to: State) {
        if from != to {
            self.seen.insert(Transition { from, event, to });
        }
    }

    /// Adds another run's transitions.
    pub fn merge(&mut self, other: &Coverage) {
        self.seen.extend(other.seen.iter().copied());
    }

    /// States entered or left by some transition.
    pub fn states(&self) -> BTreeSet<&'static str> {
        self.seen
            .iter()
            .flat_map(|t| [t.from.as_str(), t.to.as_str()])
            .collect()
    }

    /// True when the diagram arrow `(from, event, to)` was reached, by that event or by a
    /// segment that took it on the way (SYN-RECEIVED to CLOSE-WAIT passes the arrow
    /// SYN-RECEIVED to ESTABLISHED without stopping there, and is not counted for it).
    pub fn reached(&self, arrow: (State, Event, State)) -> bool {
        self.seen.contains(&Transition {
            from: arrow.0,
            event: arrow.1,
            to: arrow.2,
        })
    }

    /// The report the coverage command prints: the diagram's arrows, reached or not,
    /// then every other transition seen.
    pub fn report(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::new();
        let reached = DIAGRAM.iter().filter(|a| self.reached(**a)).count();
        let states = self.states();
        let _ = writeln!(out, "states reached: {} of 11: {}", states.len(), {
            let v: Vec<_> = states.iter().copied().collect();
            v.join(", ")
        });
        let _ = writeln!(
            out,
            "RFC 9293 figure 5 arrows reached: {reached} of {}",
            DIAGRAM.len()
        );
        for a in DIAGRAM {
            let mark = if self.reached(a) { "x" } else { " " };
            let t = Transition {
                from: a.0,
                event: a.1,
                to: a.2,
            };
            let _ = writeln!(out, "  [{mark}] {t}");
        }
        let others: Vec<_> = self
            .seen
            .iter()
            .filter(|t| !DIAGRAM.contains(&(t.from, t.event, t.to)))
            .collect();
        let _ = writeln!(
            out,
            "other transitions (RST, ABORT, timeouts, several arrows in one segment): {}",
            others.len()
        );
        for t in others {
            let _ = writeln!(out, "      {t}");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(from: State, event: Event, to: State) -> Transition {
        Transition { from, event, to }
    }

    #[test]
    fn the_diagram_is_legal_and_its_reverse_is_not() {
        for (from, event, to) in DIAGRAM {
            assert!(is_legal(t(from, event, to)), "{from} {event} {to}");
        }
        assert!(!is_legal(t(S::Established, E::RcvSyn, S::SynReceived)));
        assert!(!is_legal(t(S::TimeWait, E::RcvAck, S::Established)));
        assert!(!is_legal(t(S::CloseWait, E::Close, S::FinWait1)));
        assert!(!is_legal(t(S::Closed, E::RcvSyn, S::SynReceived)));
        assert!(!is_legal(t(S::Established, E::Send, S::FinWait1)));
        assert!(!is_legal(t(S::Established, E::RcvRst, S::Listen)));
    }

    #[test]
    fn one_segment_may_take_several_arrows_and_resets_close_anything() {
        assert!(is_legal(t(S::SynReceived, E::RcvFin, S::CloseWait)));
        assert!(is_legal(t(S::SynSent, E::RcvSynAck, S::CloseWait)));
        assert!(is_legal(t(S::FinWait2, E::RcvRst, S::Closed)));
        assert!(is_legal(t(S::Established, E::Timeout, S::Closed)));
    }

    #[test]
    fn the_report_counts_what_was_reached() {
        let mut c = Coverage::default();
        c.record(S::Listen, E::RcvSyn, S::SynReceived);
        c.record(S::SynReceived, E::RcvRst, S::Closed);
        c.record(S::Listen, E::RcvAck, S::Listen);
        let r = c.report();
        assert!(r.contains("states reached: 3 of 11"), "{r}");
        assert!(r.contains("arrows reached: 1 of 21"), "{r}");
        assert!(
            r.contains(
                "other transitions (RST, ABORT, timeouts, several arrows in one segment): 1"
            ),
            "{r}"
        );
    }
}
