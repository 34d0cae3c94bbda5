"""Inference cost: the timing protocol, the device, paired timing, and benchmark speed."""
