print("execbridge")
