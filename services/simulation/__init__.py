"""simulation: the remission quote (remise, montant à payer, échéancier) under the programme in force."""
