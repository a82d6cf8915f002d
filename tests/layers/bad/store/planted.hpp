// Planted header of the store layer (tests/layers).
#pragma once
