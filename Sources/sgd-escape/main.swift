print("sgd-escape")
