from clearsite.cli import main

main()
