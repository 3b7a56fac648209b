from albert_tfx.cli import main
import sys
sys.exit(main())
