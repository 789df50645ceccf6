"""posbot: a support assistant for merchants whose bank-card POS terminals fail."""
