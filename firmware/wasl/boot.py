# Boot: the board module (boards/<name>/board.py, deployed as board.py) builds the hardware objects,
# then the application runs. The application never names a pin.
import board
from wasl import app

app.main(board)
