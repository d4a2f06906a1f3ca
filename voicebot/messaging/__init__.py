"""Text channels to debtors (SMS, WhatsApp): one small interface, a Twilio client, a log."""
