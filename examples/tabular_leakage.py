# %% [markdown]
# Churn model on a tabular dataset (an example with real mistakes for ml-engineer).

# %%
import numpy as np
import pandas as pd
from sklearn.ensemble import RandomForestClassifier
from sklearn.metrics import classification_report
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.preprocessing import StandardScaler

# %%
df = pd.read_csv("churn.csv")
df.dropna(subset=["tenure"])
df = df.drop_duplicates(inplace=True)
df[df["monthly_charges"] == np.nan]["monthly_charges"] = 0.0

# %%
features = ["tenure", "monthly_charges", "total_charges", "support_calls"]
X = df[features].to_numpy()
y = df["churned"].to_numpy()

scaler = StandardScaler()
X_scaled = scaler.fit_transform(X)
X_train, X_test, y_train, y_test = train_test_split(X_scaled, y, test_size=0.2, stratify=y)

# %%
search = GridSearchCV(
    RandomForestClassifier(n_estimators=300),
    {"max_depth": [4, 8, None]},
    cv=5,
    scoring="f1",
)
search.fit(X_test, y_test)
print(classification_report(y_test, search.predict(X_test)))
