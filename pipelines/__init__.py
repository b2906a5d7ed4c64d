"""pmf: the Hartlepool Safeguarding Children Board performance-management data pipeline."""

__version__ = "0.1.0"
