"""The quote rules, pure: the programme and the debt in, ``QuoteTerms`` or a refusal out."""
