-- Line 3 does not compile.
local x = 1
if x then print("x" end
