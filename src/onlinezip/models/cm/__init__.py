"""Context mixing in the PAQ spirit, inside onlinezip's one exact loop (family "cm").

One concept per module: ``squash`` (the integer logistic domain), ``counters`` (adaptive
bit counters), ``tree`` (the byte as 255 binary decisions, and their slots),
``contexts`` (which hashed contexts, and where their slots live), ``match`` (the match
model), ``mixer`` (logistic mixing, trained by one gradient step per coded bit), ``apm``
(SSE stages), ``predictor`` (all of them for every node of the byte tree at once, or
with cm.nibbles of one nibble's) and ``program`` (the compiled init and step, and the
low nibble's ``half``, that ``learner.programs`` returns for "cm").
"""
