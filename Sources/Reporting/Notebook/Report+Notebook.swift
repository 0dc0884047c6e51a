extension Report {
    /// The report as a Jupyter notebook: the same sections, each table as a DataFrame and
    /// each figure rebuilt with matplotlib from its inline data (`NotebookWriter`).
    public func notebook() -> String {
        NotebookWriter.notebook(
            title: title,
            introduction: header + "\nEvery table below is a pandas DataFrame and every figure is rebuilt from its data with matplotlib; edit and rerun freely.\n",
            sections: sections.map { NotebookSection(heading: $0.heading, text: $0.text, tables: $0.tables, figures: $0.figures) })
    }
}
