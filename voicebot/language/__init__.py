"""How Spanish (es-419) says amounts, dates and times: shared by the dialog's prompts, the
recognizer's grammars and the synthetic portfolio, so it sits below all three."""
