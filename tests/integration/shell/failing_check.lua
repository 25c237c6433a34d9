-- A check that fails: the script runs to its end, then fusion-shell exits 1.
fusion.check(#assert(fusion.services()) == 99, "there are 99 services")
print("reached the end")
