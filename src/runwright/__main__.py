from runwright.cli import main

main()
