//! Times on the wire: whole seconds since the Unix epoch (UTC), negative
//! before it, as `modified` and `expires` carry them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A time as the protocol carries it; `None` if out of range.
pub fn to_epoch_secs(time: SystemTime) -> Option<i64> {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_secs()).ok(),
        // Sub-second parts round toward the epoch, as for times after it.
        Err(before) => i64::try_from(before.duration().as_secs()).ok().map(|s| -s),
    }
}

/// The time the protocol's seconds stand for; `None` if out of range.
pub fn from_epoch_secs(secs: i64) -> Option<SystemTime> {
    let offset = Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 {
        UNIX_EPOCH.checked_add(offset)
    } else {
        UNIX_EPOCH.checked_sub(offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_round_trip_on_both_sides_of_the_epoch() {
        for secs in [0, 1, -1, 1_700_000_000, -86_400 * 365 * 50] {
            let time = from_epoch_secs(secs).expect("in range");
            assert_eq!(to_epoch_secs(time), Some(secs));
        }
        let later = UNIX_EPOCH + Duration::from_millis(1_500);
        assert_eq!(to_epoch_secs(later), Some(1));
        let before = UNIX_EPOCH - Duration::from_millis(1_500);
        assert_eq!(to_epoch_secs(before), Some(-1), "toward the epoch");
    }
}
