"""Publishers: put rendered outputs where people read them."""
