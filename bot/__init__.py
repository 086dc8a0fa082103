"""dieuphoi — a Telegram assistant for Vietnam's regional coordination councils."""

__version__ = "0.1.0"
