print("vfio-ap-sim")
