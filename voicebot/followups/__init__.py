"""Follow-ups beyond the call: payment links, messages to debtors, payments and promises."""
