import './base.css';
import './columns.css';
