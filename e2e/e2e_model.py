"""A tiny custom pyfunc model (no ML libraries needed), importable when the model is loaded back."""
import mlflow.pyfunc


class AddN(mlflow.pyfunc.PythonModel):
    def __init__(self, n):
        self.n = n

    def predict(self, context, model_input, params=None):
        return model_input + self.n
