"""Privacy rights: consent history, data exports, erasure and retention (issue 16)."""
