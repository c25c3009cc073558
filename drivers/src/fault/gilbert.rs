//! The Gilbert-Elliott channel: bursty loss from a two-state Markov chain (Gilbert 1960,
//! Elliott 1963). See [`Burst`] for the parameters.

use super::config::Burst;

/// Where the channel is: in the good state or in a burst.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct GilbertElliott {
    bad: bool,
}

impl GilbertElliott {
    /// Moves the chain one frame on and says whether that frame is lost. `step` and
    /// `lose` are two uniform draws in `[0, 1)`, taken by the caller whether or not a
    /// burst model is configured, so configuring one shifts no other decision.
    pub fn next(&mut self, burst: &Burst, step: f64, lose: f64) -> bool {
        self.bad = if self.bad {
            step >= burst.leave
        } else {
            step < burst.enter
        };
        self.bad && lose < burst.loss
    }

    /// Whether the channel is in a burst.
    pub fn in_burst(&self) -> bool {
        self.bad
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use netstack_core::rng::Rng;

    fn unit(rng: &mut Rng) -> f64 {
        (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    #[test]
    fn losses_come_in_bursts_at_the_stationary_rate() {
        // Enter 1%, leave 25%: bursts of 4 frames on average, 1/26 of frames lost.
        let burst = Burst {
            enter: 0.01,
            leave: 0.25,
            loss: 1.0,
        };
        let mut chain = GilbertElliott::default();
        let mut rng = Rng::new(9);
        let (mut lost, mut bursts, mut previous) = (0u32, 0u32, false);
        let frames = 200_000;
        for _ in 0..frames {
            let (s, l) = (unit(&mut rng), unit(&mut rng));
            let now = chain.next(&burst, s, l);
            lost += u32::from(now);
            bursts += u32::from(now && !previous);
            previous = now;
        }
        let rate = f64::from(lost) / f64::from(frames);
        assert!((0.033..0.044).contains(&rate), "loss rate {rate}");
        let mean = f64::from(lost) / f64::from(bursts);
        assert!((3.5..4.5).contains(&mean), "mean burst {mean}");
    }

    #[test]
    fn the_good_state_loses_nothing() {
        let burst = Burst {
            enter: 0.0,
            leave: 1.0,
            loss: 1.0,
        };
        let mut chain = GilbertElliott::default();
        assert!(!(0..1000).any(|i| chain.next(&burst, f64::from(i) / 1000.0, 0.0)));
    }
}
