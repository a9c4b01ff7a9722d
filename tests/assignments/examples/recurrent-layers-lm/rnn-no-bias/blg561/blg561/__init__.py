"""BLG561E Deep Learning, Assignment 3, Part 1: recurrent layers in numpy."""
