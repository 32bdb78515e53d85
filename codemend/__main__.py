from codemend.cli import main

main()
