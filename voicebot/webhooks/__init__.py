"""Signed webhooks that carry outcomes back to the creditor, sent from the transactional outbox."""
