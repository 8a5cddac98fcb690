from clearsite.sim.cli import main

main()
